"""Reviewing takes: accept or reject with the production checklist and a note, saved in the take's sidecar."""
