"""Leadership checklists: the question catalog, assessments, evidence challenges and scoring."""
