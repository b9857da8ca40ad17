"""Support code for the tests (peers started for real): not part of the installed package."""
