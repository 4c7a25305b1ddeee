"""Operating Tenantry: the `tenantry` command and what it reads (executions, tenants, the event archive)."""
