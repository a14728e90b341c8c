"""The baseline for `make bench`: a view that returns a constant through the full stack."""

from django.http import HttpResponse
from django.views.decorators.csrf import csrf_exempt


@csrf_exempt
def constant(request):
    return HttpResponse(b'{"ok":true}', content_type="application/json")
