"""`onboarding explore`: generated journeys walked through the real workflow in the lab,
checked against the journey's promises after every step and at the end (docs/lab.md, "The
explorer's contract"); a broken promise is shrunk to a persona `onboarding simulate` replays."""
