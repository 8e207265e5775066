"""The tax office: taxpayers, income, assessments, refunds and withholding slips."""
