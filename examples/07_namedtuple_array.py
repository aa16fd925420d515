import array
import sys
from collections import namedtuple

Point = namedtuple("Point", ["x", "y"])
p = Point(1, 2)
d = {"x": 1, "y": 2}
print(p, d)
print(sys.getsizeof(p), sys.getsizeof(d))
print(sys.getsizeof(p) < sys.getsizeof(d))
numbers = list(range(1000))
packed = array.array("i", range(1000))
print(sum(numbers) == sum(packed))
print(sys.getsizeof(numbers), sys.getsizeof(packed))
print(sys.getsizeof(packed) < sys.getsizeof(numbers))
