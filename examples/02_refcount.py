import sys

class Resource:
    def __del__(self):
        print("Resource freed")

r = Resource()
print(sys.getrefcount(r))
alias = r
print(sys.getrefcount(r))
holders = [r, r]
print(sys.getrefcount(r))
del alias
print(sys.getrefcount(r))
holders.clear()
print(sys.getrefcount(r))
del r
print("done")
