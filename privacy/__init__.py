"""Customer data protection: payload encryption (codec), the codec server for the Web UI,
one-click unsubscribe tokens and the suppression list."""
