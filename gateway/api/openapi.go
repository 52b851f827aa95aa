package api

import (
	_ "embed"
	"net/http"

	"github.com/gin-gonic/gin"
)

// OpenAPI is the OpenAPI 3 document of the gateway, served at /openapi.json. A test checks
// that it names exactly the routes of the router.
//
//go:embed openapi.json
var OpenAPI []byte

//go:embed docs.html
var docsPage []byte

func (s *Server) openAPI(c *gin.Context) error {
	c.Data(http.StatusOK, "application/json", OpenAPI)
	return nil
}

// docs serves the interactive API page; it reads /openapi.json and sends requests with the
// API key typed into it.
func (s *Server) docs(c *gin.Context) error {
	c.Header("Content-Security-Policy", "default-src 'self'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'")
	c.Data(http.StatusOK, "text/html; charset=utf-8", docsPage)
	return nil
}
