import gc

class A:
    pass

class B:
    pass

a = A()
b = B()
a.b = b
b.a = a
del a
del b
print(gc.collect())
