"""Page-number pagination for the REST API, with a client-chosen page size."""

from rest_framework import pagination


class Pagination(pagination.PageNumberPagination):
    page_size_query_param = "page_size"
    max_page_size = 500
