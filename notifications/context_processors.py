def inbox(request) -> dict:
    return {}
