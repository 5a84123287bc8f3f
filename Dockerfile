# Placeholder: the container image is built in a later issue (see README).
FROM python:3.11-slim
