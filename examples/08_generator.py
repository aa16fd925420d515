import sys

squares_list = [x * x for x in range(100000)]
squares_gen = (x * x for x in range(100000))
print(sys.getsizeof(squares_list), sys.getsizeof(squares_gen))
print(sys.getsizeof(squares_gen) < sys.getsizeof(squares_list))
print(sum(squares_list) == sum(squares_gen))
