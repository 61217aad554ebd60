"""The official ``dashscope`` Python SDK (pinned in requirements.lock), unmodified, as a contract-test client of the
mock: every call a user of liveportrait, emo-v1, videoretalk and their detectors makes with it, over real loopback
HTTP."""
