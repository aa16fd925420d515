class Resource:
    def __init__(self, name):
        self.name = name
        print("open", name)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        print("close", self.name)
        return False

with Resource("a") as a:
    with Resource("b") as b:
        print("using", a.name, b.name)
print("done")
