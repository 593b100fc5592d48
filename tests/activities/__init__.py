"""Tests of the activities: messaging over SMTP and the HubSpot and Pipedrive adapters."""
