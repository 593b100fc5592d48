"""Tests of the friction report: its numbers, its journeys, the golden page and the browser view."""
