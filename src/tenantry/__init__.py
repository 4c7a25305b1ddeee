"""Tenantry's shared package: domain logic, AWS adapters and event models, shipped to Lambda once as a layer.

Modules import the AWS SDK lazily: several of them sit on Cognito's sign-in path, where import time is
paid by every user whose sign-in lands on a cold Lambda environment.
"""
