"""The contract's forms, one pandera schema module each, with the registries and the rule
catalogue beside them as data files."""
