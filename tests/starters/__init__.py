"""Tests of the HTTP starters: CRM webhooks and product events turned into journey starts and signals."""
