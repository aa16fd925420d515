import gc
import weakref

class Node:
    def __init__(self, name):
        self.name = name
        self.parent = None
        self.children = []

    def __del__(self):
        print("freeing", self.name)

gc.disable()
parent = Node("parent")
child = Node("child")
parent.children.append(child)
child.parent = weakref.ref(parent)
print(child.parent() is parent)
del parent
print(child.parent())
del child
print(gc.collect())
