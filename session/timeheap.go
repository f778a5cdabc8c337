package session

import "time"

// timeHeap orders entries by a time, soonest first, for container/heap.
// Each entry keeps its place in the heap, for heap.Fix and heap.Remove.
type timeHeap[E timed] []E

// timed is an entry of a timeHeap: the time it is ordered by, and where
// it is.
type timed interface {
	heapTime() time.Time
	setHeapIndex(i int)
}

func (h timeHeap[E]) Len() int           { return len(h) }
func (h timeHeap[E]) Less(i, j int) bool { return h[i].heapTime().Before(h[j].heapTime()) }
func (h timeHeap[E]) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].setHeapIndex(i)
	h[j].setHeapIndex(j)
}

func (h *timeHeap[E]) Push(x any) {
	e := x.(E)
	e.setHeapIndex(len(*h))
	*h = append(*h, e)
}

func (h *timeHeap[E]) Pop() any {
	old := *h
	e := old[len(old)-1]
	var none E
	old[len(old)-1] = none
	*h = old[:len(old)-1]
	return e
}
