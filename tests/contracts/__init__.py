"""Tests of the contracts: the shapes that cross a boundary and the journey metadata."""
