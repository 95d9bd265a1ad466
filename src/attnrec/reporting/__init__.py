"""Figures, reports and the experiment pipeline shared by `attnrec paper` and `attnrec train`."""
