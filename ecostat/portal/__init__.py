"""The portal: units log in, check and submit their files, explain warnings and follow their reports
(contract v3 §2.1, §8). It reads the published warehouse read-only and writes only inputs: uploads into
the inbox (through the intake, receipts naming the account) and explanations into the archive."""
