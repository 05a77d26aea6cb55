-- Numbers the tables (and unreadable files) received, in the order they were processed.
CREATE SEQUENCE IF NOT EXISTS meta_submission_seq START 1;
