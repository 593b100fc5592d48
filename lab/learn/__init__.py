"""`onboarding personas --from-history`: personas learned from real customers.

Recorded journeys (Temporal histories, or the records' moments) are read into what each
customer did per milestone (`observed`), reduced to a behaviour signature (`signature`),
grouped into a handful of personas (`grouping`) and written as persona files the lab walks
(`write`); the shipped personas are walked and matched against the same signatures
(`resemblance`). docs/lab.md, "Personas learned from real customers"."""
