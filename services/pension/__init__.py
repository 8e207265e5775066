"""The Japan Pension Service: enrolment, contributions, exemptions and claims."""
