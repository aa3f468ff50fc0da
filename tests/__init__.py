"""The product's tests: pure builders and reads, AppTest pages, real-browser checks and the real NHS samples."""
