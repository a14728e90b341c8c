"""Security advisories: matching installed package versions against affected ranges."""
