"""The domain: models and pure rules (posyandu days, NIK masking, working days). No I/O,
and nothing else of ours is imported here."""
