freed = 0

class Item:
    def __del__(self):
        global freed
        freed += 1

cache = []

def handle_request(i):
    cache.append(Item())

for i in range(1000):
    handle_request(i)
print(len(cache), freed)
cache.clear()
print(len(cache), freed)
