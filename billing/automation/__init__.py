"""The automation engine: overdue suspension, unsuspension and termination with product/group overrides
(seeds 001 and 004), invoice handling on termination, client status update, dry run."""
