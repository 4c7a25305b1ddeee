"""Tenantry's local runtime: template.yaml on moto, offline. Not shipped to Lambda."""
