"""What tests share: the API client and people (api), and factories per domain."""
