"""The version of the submission contract this code implements (``../shared/submission-contract.md``)."""

CONTRACT_VERSION = "3"
