"""Case report forms: visits, labs, vitals, immune panel, TACE, con-meds, AEs, tumor, exit."""
