"""Standard exports of the trial data: SDTM, ADaM, ODM and FHIR, each recorded in the audit."""
