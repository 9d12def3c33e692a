"""The build step: `dbt build` of dbt_project/ through dbt's Python runner (`transform.build`)
and the mapping seeds an accountant edits (`transform.mappings`)."""
