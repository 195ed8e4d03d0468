"""Measuring Mara: answer accuracy on question sets with SQL truths, and routing accuracy."""
