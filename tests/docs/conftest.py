"""The documentation tests: every Python block of README.md and docs/ runs, the site builds with
`mkdocs build --strict`, and docs/export.md's measured section is complete."""
