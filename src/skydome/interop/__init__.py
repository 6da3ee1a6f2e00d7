"""Interoperability with other tracking and simulation libraries.

`skydome.interop.stonesoup`: adapters between skydome's struct-of-arrays
detections and air picture and Stone Soup's objects, and `StoneSoupTracker`,
a Stone Soup tracker plugged in as skydome's tracker stage. Stone Soup is an
optional dependency (``pip install 'skydome[interop]'``), imported only when
an adapter is called.
"""

__all__: list[str] = []
