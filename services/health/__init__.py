"""The health insurer: coverage, online eligibility confirmation, expenses, vaccinations."""
