"""The agent lab: question banks run through an agent and scored (SPEC §8 Lab)."""
