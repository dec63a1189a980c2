def main() -> None:
    print("noticenet")
