import sys

x = [1, 2, 3]
print(sys.getsizeof(x))
items = []
print(sys.getsizeof(items))
for i in range(10):
    items.append(i)
    print(len(items), sys.getsizeof(items))
