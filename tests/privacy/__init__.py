"""Tests of customer data protection: the codec and its server, logs, histories, suppressions and unsubscribe."""
