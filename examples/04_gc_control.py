import gc

class Node:
    pass

gc.disable()
print(gc.isenabled())
for i in range(10):
    a = Node()
    b = Node()
    a.other = b
    b.other = a
del a, b
gc.enable()
print(gc.isenabled())
print(gc.get_threshold())
print(gc.collect())
print(gc.collect())
