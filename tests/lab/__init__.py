"""Tests of the journey lab: backtests, checks, timelines, variants and the lab's world."""
